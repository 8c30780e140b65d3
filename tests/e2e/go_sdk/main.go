// The AWS SDK for Go v2 (Debian's golang-github-aws-aws-sdk-go-v2-dev, built offline in
// GOPATH mode by tests/e2e/test_go_sdk.py) against Millrace, with its defaults but for the
// endpoint: creates a stream, puts records (PutRecord, PutRecords), reads them back with
// GetRecords and with SubscribeToShard (enhanced fan-out), and prints one JSON line:
// {"put": [...], "read": [...], "subscribed": [...], "error": "..."}.
//
// Usage: go_sdk ENDPOINT KEY_ID SECRET STREAM
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"sort"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"
)

func must(err error, what string) {
	if err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", what, err)
		os.Exit(1)
	}
}

func main() {
	endpoint, key, secret, stream := os.Args[1], os.Args[2], os.Args[3], os.Args[4]
	ctx := context.Background()
	client := kinesis.New(kinesis.Options{
		Region:           "us-east-1",
		Credentials:      credentials.NewStaticCredentialsProvider(key, secret, ""),
		EndpointResolver: kinesis.EndpointResolverFromURL(endpoint),
	})
	_, err := client.CreateStream(ctx, &kinesis.CreateStreamInput{StreamName: aws.String(stream), ShardCount: aws.Int32(1)})
	must(err, "CreateStream")
	var arn string
	for {
		s, err := client.DescribeStreamSummary(ctx, &kinesis.DescribeStreamSummaryInput{StreamName: aws.String(stream)})
		must(err, "DescribeStreamSummary")
		if s.StreamDescriptionSummary.StreamStatus == types.StreamStatusActive {
			arn = *s.StreamDescriptionSummary.StreamARN
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	consumer, err := client.RegisterStreamConsumer(ctx, &kinesis.RegisterStreamConsumerInput{StreamARN: aws.String(arn), ConsumerName: aws.String("go")})
	must(err, "RegisterStreamConsumer")
	for {
		d, err := client.DescribeStreamConsumer(ctx, &kinesis.DescribeStreamConsumerInput{ConsumerARN: consumer.Consumer.ConsumerARN})
		must(err, "DescribeStreamConsumer")
		if d.ConsumerDescription.ConsumerStatus == types.ConsumerStatusActive {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	sub, err := client.SubscribeToShard(ctx, &kinesis.SubscribeToShardInput{
		ConsumerARN: consumer.Consumer.ConsumerARN, ShardId: aws.String("shardId-000000000000"),
		StartingPosition: &types.StartingPosition{Type: types.ShardIteratorTypeTrimHorizon},
	})
	must(err, "SubscribeToShard")
	events := sub.GetStream()

	out := map[string]interface{}{}
	var put []string
	one, err := client.PutRecord(ctx, &kinesis.PutRecordInput{StreamName: aws.String(stream), PartitionKey: aws.String("p"), Data: []byte("go-first")})
	must(err, "PutRecord")
	put = append(put, *one.SequenceNumber)
	batch, err := client.PutRecords(ctx, &kinesis.PutRecordsInput{StreamName: aws.String(stream), Records: []types.PutRecordsRequestEntry{
		{PartitionKey: aws.String("a"), Data: []byte("go-second")}, {PartitionKey: aws.String("b"), Data: []byte("go-third")}}})
	must(err, "PutRecords")
	for _, r := range batch.Records {
		put = append(put, *r.SequenceNumber)
	}
	out["put"] = put

	it, err := client.GetShardIterator(ctx, &kinesis.GetShardIteratorInput{StreamName: aws.String(stream), ShardId: aws.String("shardId-000000000000"), ShardIteratorType: types.ShardIteratorTypeTrimHorizon})
	must(err, "GetShardIterator")
	got, err := client.GetRecords(ctx, &kinesis.GetRecordsInput{ShardIterator: it.ShardIterator})
	must(err, "GetRecords")
	var read []string
	for _, r := range got.Records {
		read = append(read, string(r.Data))
	}
	out["read"] = read

	var subscribed []string
	deadline := time.After(10 * time.Second)
loop:
	for len(subscribed) < 3 {
		select {
		case ev, ok := <-events.Events():
			if !ok {
				break loop
			}
			if e, ok := ev.(*types.SubscribeToShardEventStreamMemberSubscribeToShardEvent); ok {
				for _, r := range e.Value.Records {
					subscribed = append(subscribed, string(r.Data))
				}
			}
		case <-deadline:
			break loop
		}
	}
	events.Close()
	sort.Strings(subscribed)
	out["subscribed"] = subscribed

	_, err = client.DescribeStreamSummary(ctx, &kinesis.DescribeStreamSummaryInput{StreamName: aws.String("no-such-stream-go")})
	var nf *types.ResourceNotFoundException
	if errors.As(err, &nf) {
		out["error"] = "ResourceNotFoundException"
	} else {
		out["error"] = fmt.Sprint(err)
	}
	b, _ := json.Marshal(out)
	fmt.Println(string(b))
}
