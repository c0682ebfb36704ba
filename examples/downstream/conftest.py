# The downstream suite imports its client module from this folder; the cxmock fixtures come from the plugin.
