"""The Newsroom users service: accounts, login, JWT issuing, profiles and follows."""
