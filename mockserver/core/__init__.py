"""The domain core: rules with no IO. Never imports flask, werkzeug, aiosmtpd, socket, ssl or smtplib."""
