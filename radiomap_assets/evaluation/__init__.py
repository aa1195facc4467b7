"""The evaluation report of paper section IV, in three parts (issue 11): ``scoring`` (every method of every
experiment against ground truth: plain arrays in, a results dict out), ``rendering`` (results and figures into the
Markdown/HTML report), and writing (files, MLflow, Dagster metadata: the asset ``evaluation_report``)."""
