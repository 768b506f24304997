"""Learning groups and vital week cycles: agendas built from the members' own work situations."""
