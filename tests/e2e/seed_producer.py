import json
import csv
import boto3
import os


data_records = []
client = boto3.client('kinesis', region_name='eu-west-1', endpoint_url=os.environ["MILLRACE_ENDPOINT_URL"], aws_access_key_id=os.environ["ACCESS_KEY_ID"], aws_secret_access_key=os.environ['SECRET_ACCESS_KEY'])
counter=0


with open('./data.csv', encoding='utf-8') as csvf:
    lines=csvf.readlines()
    for line in lines:
        data_records.append(line)
        response = client.put_record(
            StreamName = "My-Stream",
            Data = line,
            PartitionKey = str(hash(line))
        )
        counter = counter + 1
        print('Message sent #' + str(counter))
        #If the message was not successfully sent print an error message
        if response['ResponseMetadata']['HTTPStatusCode'] != 200:
            print('Error!')
            print(response)
print(data_records)
