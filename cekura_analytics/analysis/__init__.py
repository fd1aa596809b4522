"""Questions asked of the warehouse, answered as data (polars frames and dataclasses):
pass rates and version comparisons (``rates``), the statistics (``stats``), outlier runs,
the release gate, failure modes (``modes``, ``clustering``). Nothing here renders.
"""
