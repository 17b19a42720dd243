# sample_script.py: the docs' script, written with the standard library so the demo needs no pandas.
import csv
import sys

rows = [
    {"Name": "Alice", "Age": 25, "City": "New York"},
    {"Name": "Bob", "Age": 30, "City": "San Francisco"},
    {"Name": "Charlie", "Age": 35, "City": "Los Angeles"},
]
writer = csv.DictWriter(sys.stdout, fieldnames=["Name", "Age", "City"])
writer.writeheader()
writer.writerows(rows)
