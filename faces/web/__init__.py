"""The members' web: server-rendered pages that present what selectors and services give."""
