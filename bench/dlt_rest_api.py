"""dlt's rest_api source on the mock: runs list, then each run's detail (run under a Python
that has dlt; not a dependency of this project). Usage: dlt_rest_api.py BASE_URL KEY OUT_DIR"""

import sys

import dlt
from dlt.sources.rest_api import rest_api_source

base_url, key, out = sys.argv[1], sys.argv[2], sys.argv[3]
source = rest_api_source(
    {
        "client": {
            "base_url": base_url + "/test_framework/v1/",
            "headers": {"X-CEKURA-API-KEY": key},
            "paginator": {"type": "json_link", "next_url_path": "next"},
        },
        "resource_defaults": {"write_disposition": "replace"},
        "resources": [
            {
                "name": "runs",
                "endpoint": {
                    "path": "runs/",
                    "params": {"page_size": 500},
                    "data_selector": "results",
                },
            },
            {
                "name": "run_details",
                "endpoint": {
                    "path": "runs/{run_id}/",
                    "params": {"run_id": {"type": "resolve", "resource": "runs", "field": "id"}},
                    "paginator": "single_page",
                },
            },
        ],
    }
)
pipeline = dlt.pipeline(
    pipeline_name="cekura_bench",
    destination=dlt.destinations.duckdb(f"{out}.duckdb"),
    dataset_name="cekura",
    pipelines_dir=out,
)
print(pipeline.run(source))
