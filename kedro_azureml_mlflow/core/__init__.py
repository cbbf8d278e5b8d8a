"""What every room uses: the plugin's error types, the one place for third parties' private APIs
(``compat``), and redaction of secrets from everything the plugin logs, prints or journals."""
