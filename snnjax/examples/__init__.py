"""Example networks: ``python -m snnjax.examples.coba`` runs the main example."""
