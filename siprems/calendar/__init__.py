"""Dates as a shop sees them: its time zone, its public holidays and its own
calendar events (promotions, extra holidays, closures). No Sanic imports, so
forecasting, chat and jobs can use it too."""
