package testlog

// Templates of kubelet v1.34.4 records (--logging-format=json), copied from the captured real node
// (testdata/nodes/broken/var/log/kubelet.log): each is a record after its leading `{"ts":…,`, with
// the pod's name, namespace, UID, container name and container ID replaced by the placeholders
// {POD}, {NS}, {UID}, {CTR} and {CID}, and the CrashLoopBackOff delay by {BACKOFF}.
//
// They are the one copy of these lines: the crash loop below (Pod.Line) and the dense workload of
// the benchmark generator (bench/kubeletlog/gen) both write them.
const (
	// TemplateCrashLoop: the pod worker's sync error while the container waits out its back-off.
	TemplateCrashLoop = `"caller":"kubelet/pod_workers.go:1324","msg":"Error syncing pod, skipping","pod":{"name":"{POD}","namespace":"{NS}"},"podUID":"{UID}","err":"failed to \"StartContainer\" for \"{CTR}\" with CrashLoopBackOff: \"back-off {BACKOFF} restarting failed container={CTR} pod={POD}_{NS}({UID})\"","errCauses":[{"error":"failed to \"StartContainer\" for \"{CTR}\" with CrashLoopBackOff: \"back-off {BACKOFF} restarting failed container={CTR} pod={POD}_{NS}({UID})\""}]}`
	// TemplatePLEGDied: the sync loop's PLEG event of a container that died.
	TemplatePLEGDied = `"caller":"kubelet/kubelet.go:2546","msg":"SyncLoop (PLEG): event for pod","v":2,"pod":{"name":"{POD}","namespace":"{NS}"},"event":{"ID":"{UID}","Type":"ContainerDied","Data":"{CID}"}}`
	// TemplatePLEGFinished: the generic PLEG's record of a container's exit (code 3).
	TemplatePLEGFinished = `"caller":"pleg/generic.go:356","msg":"Generic (PLEG): container finished","v":2,"podID":"{UID}","containerID":"{CID}","exitCode":3}`
	// TemplatePLEGStarted: the sync loop's PLEG event of a container that started.
	TemplatePLEGStarted = `"caller":"kubelet/kubelet.go:2546","msg":"SyncLoop (PLEG): event for pod","v":2,"pod":{"name":"{POD}","namespace":"{NS}"},"event":{"ID":"{UID}","Type":"ContainerStarted","Data":"{CID}"}}`
	// TemplateProbeFailed: a failed liveness probe with the exec probe's output.
	TemplateProbeFailed = `"caller":"prober/prober.go:120","msg":"Probe failed","v":1,"probeType":"Liveness","pod":{"name":"{POD}","namespace":"{NS}"},"podUID":"{UID}","containerName":"{CTR}","probeResult":"failure","output":"cat: can't open '/tmp/healthy': No such file or directory\n"}`
	// TemplateKilling: the container runtime manager killing a container (after the probe failed).
	TemplateKilling = `"caller":"kuberuntime/kuberuntime_container.go:866","msg":"Killing container with a grace period","v":2,"pod":{"name":"{POD}","namespace":"{NS}"},"podUID":"{UID}","containerName":"{CTR}","containerID":"containerd://{CID}","gracePeriod":2}`
)
