"""kefu's Rasa custom actions and the bank backends they call."""
