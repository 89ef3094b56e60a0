"""Local stand-ins for outside services, for tests and the local demo.

None of them is the real service.
"""
