"""What a config change does: ``tenantflow plan`` compares the configs of two git refs for reviewers."""
