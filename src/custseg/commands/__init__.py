"""The commands: each opens one session on its input and composes the stages it needs.

* :mod:`custseg.commands.run`: segment (clean, RFM, choose k, K-Means, personas), check the
  personas on a holdout, cohorts, audiences, report.
* :mod:`custseg.commands.score`: assign a new file's customers with a saved model.
* :mod:`custseg.commands.migrate`: two snapshots of one input, one model, who moved where.
* :mod:`custseg.commands.clv`: BG/NBD and Gamma-Gamma per customer, with a backtest.
* :mod:`custseg.commands.cohorts`: monthly cohort retention (and per persona).
* :mod:`custseg.commands.plan`: what-if campaigns over a clv folder.

Each module has the command's function (results in memory) and its writer (files).
"""
