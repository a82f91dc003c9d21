"""The terminal: a prompt that stays up, what was typed ahead, yes-or-no questions."""
