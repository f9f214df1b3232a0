"""The FastAPI application: wiring of domain routers, auth, problems, templates and static files."""
