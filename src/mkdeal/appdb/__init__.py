"""The app database: what people edit and what the programme and trial run on.

People appear here by `person_id` only; names, NHS numbers and contact details live in the
identifiable store. Every change of schema is an Alembic migration in `migrations/`.
"""
