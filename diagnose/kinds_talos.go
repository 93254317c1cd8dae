package diagnose

// KindStaticPodListRejected: the kubelet's URL source (staticPodURL, Talos) rejects the whole
// PodList because one item is invalid; every other pod of the list is frozen at the version the
// kubelet last accepted. The finding names the item.
const KindStaticPodListRejected Kind = "StaticPodListRejected"
