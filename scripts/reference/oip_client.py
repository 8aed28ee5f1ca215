#!/usr/bin/env python3
"""An off-the-shelf Open Inference Protocol client against `perennial serve`.

Uses Triton's own Python client (pip install 'tritonclient[http]') exactly as
its documentation shows: the model's metadata says each input's name and
datatype, and every column of the rows goes as one InferInput (shape [N, 1],
as MLServer's pandas codec sends a table). Nothing here knows Perennial.

    python scripts/reference/oip_client.py --url 127.0.0.1:8080 --model weather --rows rows.json [--json-data]

rows.json is a list of objects {"<column>": value}; null is a missing value
(NaN for a number column). Prints one JSON object: the answering version, the
echoed id, the prediction ids, every output as a list, and the server's
liveness/readiness as the client sees them.
"""
import argparse
import json
import sys

import numpy as np
import tritonclient.http as httpclient
from tritonclient.utils import InferenceServerException


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", required=True, help="host:port of the server")
    parser.add_argument("--model", required=True)
    parser.add_argument("--rows", required=True, help="JSON file: a list of row objects")
    parser.add_argument("--id", default="oip-client-1", help="request id the server must echo")
    parser.add_argument("--json-data", action="store_true", help="send tensors as JSON instead of tritonclient's default binary extension")
    args = parser.parse_args()

    with open(args.rows, encoding="utf-8") as f:
        rows = json.load(f)

    client = httpclient.InferenceServerClient(url=args.url)
    metadata = client.get_model_metadata(args.model)
    inputs = []
    for spec in metadata["inputs"]:
        values = [row.get(spec["name"]) for row in rows]
        if spec["datatype"] == "BYTES":
            array = np.array([("" if v is None else str(v)).encode("utf-8") for v in values], dtype=np.object_).reshape(-1, 1)
        else:
            array = np.array([np.nan if v is None else v for v in values], dtype=np.float64).reshape(-1, 1)
        tensor = httpclient.InferInput(spec["name"], list(array.shape), spec["datatype"])
        tensor.set_data_from_numpy(array, binary_data=not args.json_data)
        inputs.append(tensor)

    try:
        result = client.infer(args.model, inputs, request_id=args.id)
    except InferenceServerException as error:
        print(json.dumps({"error": str(error)}))
        return 1
    response = result.get_response()
    out = {
        "live": client.is_server_live(),
        "ready": client.is_server_ready(),
        "model_ready": client.is_model_ready(args.model),
        "model_version": response["model_version"],
        "id": response.get("id"),
        "prediction_ids": response["parameters"]["prediction_ids"],
        "outputs": {},
    }
    for output in metadata["outputs"]:
        array = result.as_numpy(output["name"])
        if array.dtype == np.object_:
            array = np.array([v.decode("utf-8") if isinstance(v, bytes) else v for v in array.reshape(-1)], dtype=np.object_).reshape(array.shape)
        out["outputs"][output["name"]] = array.tolist()
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
