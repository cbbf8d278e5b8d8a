"""Files, figures and models from the pipeline into the run.

``formats`` decides what an output is as a file (pure); ``auto`` logs matching node outputs;
``handoff`` stages files and hands them to the tracking side, which uploads them off the
pipeline's critical path; ``dataset`` and ``model_dataset`` are the catalog's dataset types.
"""
