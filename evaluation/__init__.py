"""Quality measured on data this project did not generate (``make eval``, docs/quality.md).

Generated samples (sources/samples) test the pipeline; the figures here test the text
engines against text written by other people and models, with labels made by reading it.
"""
