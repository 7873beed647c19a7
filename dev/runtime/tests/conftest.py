import os
import sys

# The runtime's modules import each other by name, as runtime.py runs them.
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
