"""Small plain helpers every other package may use: redaction of secrets, exit codes, waits that a
stop request cuts short, number and time formatting, `.env` loading, and the plumbing of the small
HTTP servers. Imports nothing else from `services`."""
