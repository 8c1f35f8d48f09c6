"""Faces: what members see (the members' web, the Discord endpoint), presenting clubs'
and listens' selectors and services. Nothing below imports from here."""
