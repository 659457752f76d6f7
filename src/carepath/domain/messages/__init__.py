"""Messages: invites, emails, notices and letters, composed as values."""
