"""
File defines logic for transforming records.
"""
import base64
import json
import sys
OTHER_SECTORS = ["HEALTHCARE", "ENERGY", "RETAIL", "FINANCIAL"]


def lambda_handler(event, context):
    """
    Entry point for lambda.update test.
    """
    print("input size: ", sys.getsizeof(event["records"]))
    output = []


    for record in event["records"]:
        payload = base64.b64decode(record["data"]).decode('utf-8')
        record_info = payload.split(",")
        if record_info[3].strip() == "TECHNOLOGY":
            output_record = {
                "recordId": record["recordId"],
                "result": "Ok",
                "data": base64.b64encode(payload.encode('utf-8'))
            }
        elif record_info[3].strip() in OTHER_SECTORS:
            output_record = {
                "recordId": record["recordId"],
                "result": "Dropped",
                "data": base64.b64encode(payload.encode('utf-8'))
            }
        else:
            output_record = {
                "recordId": record["recordId"],
                "result": "ProcessingFailed",
                "data": base64.b64encode(payload.encode('utf-8'))
            }


        output.append(output_record)


    print("Processed {} records.".format(len(event["records"])))
    print("output size: ", sys.getsizeof(output))
    return {"records": output}
