"""The channels' messages built as the channels build them: notifications, signed answers, a
stand-in certificate chain. For the local simulator and the tests only: production verifies
(``chalicelib/adapters``) and never builds.
"""
