"""Reports: figures over the event log, stage history and deals, computed in the database."""
