"""Swedish BankID (relying-party API v6): the client, QR codes, user messages and a simulator."""
