"""Views of the members' web: parse the request, call a selector or service, render."""
