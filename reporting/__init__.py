"""The scale-and-nature report: tables from the marts, disclosure control, HTML/Markdown/CSV."""
