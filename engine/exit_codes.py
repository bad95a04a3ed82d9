"""The exit codes of loadrec's commands and processes, in one place.

0 done; 1 a run failed (or its results could not be written); 2 bad input: nothing was
sent; 3 a test process whose results folder refused a write; 99 the job ended but a
threshold failed (k6's code for it); 130 interrupted (Ctrl-C, SIGTERM, SIGHUP). When
several apply the first of 1, 2, 130 wins over 99.
"""

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_BAD_INPUT = 2
EXIT_RESULTS_NOT_WRITTEN = 3
EXIT_THRESHOLDS_FAILED = 99
EXIT_INTERRUPTED = 130
