"""Studies, their iterations and evaluations: the HTML side of the app."""
