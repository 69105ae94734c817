"""Accounts: users with a role (bureau, department, viewer), argon2 password hashes, sessions, sign-in limits."""
