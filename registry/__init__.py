"""The registry: the table of names, mailboxes, relays and the help desk."""
