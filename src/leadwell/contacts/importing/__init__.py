"""Importing contacts from files (``leadwell import contacts FILE``).

The front half is pure and needs no database: :mod:`.reader` turns a CSV, TSV or XLSX file into
headers and a stream of rows, :mod:`.mapping` decides which column feeds which field, and
:mod:`.cleaning` turns each row into a contact and an organization with every problem named. The
back half (:mod:`.pipeline` and the writers) matches and stores them in chunks.
"""
