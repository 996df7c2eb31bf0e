"""The web service: FastAPI, server-rendered NHS.UK pages, sign-in and permissions.

It reads the app database and published snapshots only, never the warehouse (DESIGN.md).
"""
