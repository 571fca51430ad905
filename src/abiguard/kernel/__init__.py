"""kernel stage."""
