"""The verbs of khudan. HTTP layers and the CLI call these; they own the transactions."""
