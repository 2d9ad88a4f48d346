"""Evaluation: send each question, with its media, to target models and capture exactly what came back.

- :mod:`~vidqa.evaluate.transports` -- what the model receives (native video, frames + audio, frames + transcript,
  text cues), recorded with every answer; :mod:`~vidqa.evaluate.window` decodes the window's frames, audio, clip;
- :mod:`~vidqa.evaluate.prompt` -- the multiple-choice / open prompt and its JSON-schema answer;
- :mod:`~vidqa.evaluate.permutations` -- option rotations, plain vs consistent accuracy;
- :mod:`~vidqa.evaluate.gate` -- the modality gate (deaf, blind, question-only);
- :mod:`~vidqa.evaluate.counterfactual` -- the audio cue muted or shifted out of the window;
- :mod:`~vidqa.evaluate.plan` -- which calls a run makes, and building one into a request;
- :mod:`~vidqa.evaluate.runner` -- limiter per model, response cache, resume; errors stay errors;
- :mod:`~vidqa.evaluate.baselines` -- random, longest, question-only and transcript-only pseudo-models;
- :mod:`~vidqa.evaluate.cost` -- the estimate before a run and the cost of each response.

Pure: nothing here writes the store (:mod:`vidqa.pipeline.evaluate` does). Scoring is :mod:`vidqa.score`.
"""
