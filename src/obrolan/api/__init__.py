"""HTTP plumbing shared by every domain's routes: problem responses and dependencies."""
