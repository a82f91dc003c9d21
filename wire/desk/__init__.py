"""The help desk's messages and the lines it shows, apart from the chat's (docs/DESK.md)."""
