"""The request journal: ``entry`` (one journaled request), ``journal`` (the bounded ring), ``assertions``
(``assert_called`` and its failure texts).
"""
