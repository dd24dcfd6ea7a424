"""Code every Newsroom service shares. Importing it never connects to anything."""
