// Package fakestorage decides what the local control plane's stand-in volume
// provisioner does. KWOK's nodes mount nothing, so a volume only has to
// exist as an API object: a PersistentVolume made for the claim, which the
// real PersistentVolume controller in kube-controller-manager then binds.
// Everything here is a pure function of API objects; the loop that reads
// and writes them is in cmd/sluice-kube/volumes.go.
package fakestorage

import (
	"strings"

	v1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	csitranslation "k8s.io/csi-translation-lib"
)

// Annotations the Kubernetes volume machinery reads and writes (their
// meanings are upstream's), and one of our own.
const (
	// AnnSelectedNode is set on a claim by the scheduler once it has picked
	// a node for the first pod that uses it (WaitForFirstConsumer).
	AnnSelectedNode = "volume.kubernetes.io/selected-node"
	// AnnStorageProvisioner is set on a claim by the PersistentVolume
	// controller: the provisioner expected to act, after CSI migration (a
	// class of `kubernetes.io/aws-ebs` reads `ebs.csi.aws.com` here).
	AnnStorageProvisioner     = "volume.kubernetes.io/storage-provisioner"
	AnnBetaStorageProvisioner = "volume.beta.kubernetes.io/storage-provisioner"
	// AnnBetaStorageClass is the claim's class in its pre-field form, still
	// honoured by the controllers ahead of spec.storageClassName.
	AnnBetaStorageClass = "volume.beta.kubernetes.io/storage-class"
	// AnnProvisionedBy names the provisioner of a volume. The PV controller
	// leaves the deletion of a volume whose provisioner it does not own to
	// that provisioner: here, to us.
	AnnProvisionedBy = "pv.kubernetes.io/provisioned-by"
	// AnnDefaultClass marks the cluster's default StorageClass.
	AnnDefaultClass = "storageclass.kubernetes.io/is-default-class"
	// AnnFakeVolume marks the volumes this provisioner made, so it deletes
	// only its own.
	AnnFakeVolume = "kube.sluice.dev/fake-volume"

	// NoProvisioner is the class provisioner of statically made volumes:
	// nothing provisions for it, in a real cluster or here.
	NoProvisioner = "kubernetes.io/no-provisioner"
	// DefaultProvisioner is the provisioner of the default class this
	// control plane creates when the cluster has none.
	DefaultProvisioner = "kube.sluice.dev/fake"
	// DefaultClassName is that class's name (kind's is also "standard").
	DefaultClassName = "standard"
	// VolumeRoot is where the volumes' host paths would be. Nothing is
	// created there: KWOK's kubelet mounts nothing.
	VolumeRoot = "/var/lib/sluice-kube/volumes"
)

// ClassName is the claim's StorageClass name, the annotation first as the
// controllers read it; "" means the claim has none.
func ClassName(claim *v1.PersistentVolumeClaim) string {
	if c, ok := claim.Annotations[AnnBetaStorageClass]; ok {
		return c
	}
	if claim.Spec.StorageClassName != nil {
		return *claim.Spec.StorageClassName
	}
	return ""
}

// Decision says whether to provision a volume for a claim now, and if not, why.
type Decision struct {
	Provision bool
	Reason    string
}

func wait(reason string) Decision { return Decision{Reason: reason} }

// Decide whether the claim gets a volume now. class is the claim's
// StorageClass, nil when the claim names none or the class does not exist
// (yet). A claim waits, as it would for a real provisioner, while it is
// already bound or being deleted, has no class, selects volumes by label
// (dynamic provisioning never serves a selector), or its class binds on
// first consumer and the scheduler has not yet picked a node.
func Decide(claim *v1.PersistentVolumeClaim, class *storagev1.StorageClass) Decision {
	switch {
	case claim.DeletionTimestamp != nil:
		return wait("being deleted")
	case claim.Spec.VolumeName != "":
		return wait("already bound to " + claim.Spec.VolumeName)
	case claim.Status.Phase != "" && claim.Status.Phase != v1.ClaimPending:
		return wait("phase " + string(claim.Status.Phase))
	case ClassName(claim) == "":
		return wait("no storage class: only a volume made by hand can bind it")
	case class == nil:
		return wait("storage class " + ClassName(claim) + " not found")
	case class.Provisioner == NoProvisioner:
		return wait("storage class " + class.Name + " has no provisioner")
	case claim.Spec.Selector != nil:
		return wait("a claim with a selector binds only to a volume made by hand")
	}
	if class.VolumeBindingMode != nil && *class.VolumeBindingMode == storagev1.VolumeBindingWaitForFirstConsumer {
		if claim.Annotations[AnnSelectedNode] == "" {
			return wait("waiting for first consumer to be scheduled")
		}
	}
	return Decision{Provision: true}
}

// VolumeName is the name of the claim's volume: one per claim UID, as the
// CSI external-provisioner names them, so creating it twice is harmless.
func VolumeName(claim *v1.PersistentVolumeClaim) string {
	return "pvc-" + string(claim.UID)
}

// ProvisionerName is the provisioner a volume for the claim is recorded as
// made by: the one the PV controller asked for, else the class's, with an
// in-tree name translated to its CSI driver as CSI migration does (the
// scheduler's node choice can reach us before the PV controller's
// annotation). The PV controller leaves the deletion of such a volume to its
// provisioner; with an in-tree name it would look for a plugin it no longer
// has.
func ProvisionerName(claim *v1.PersistentVolumeClaim, class *storagev1.StorageClass) string {
	for _, a := range []string{AnnStorageProvisioner, AnnBetaStorageProvisioner} {
		if p := claim.Annotations[a]; p != "" {
			return p
		}
	}
	translator := csitranslation.New()
	if translator.IsMigratableIntreePluginByName(class.Provisioner) {
		if csi, err := translator.GetCSINameFromInTreeName(class.Provisioner); err == nil {
			return csi
		}
	}
	return class.Provisioner
}

// DefaultCapacity is used when a claim requests no storage (the API server
// rejects such claims, so this is a guard, not a feature).
var DefaultCapacity = resource.MustParse("1Gi")

// VolumeFor is the PersistentVolume that satisfies the claim: its capacity,
// access modes and volume mode, the class's reclaim policy and mount
// options, and a claimRef (with the claim's UID) that the PV controller
// completes into a two-way binding.
func VolumeFor(claim *v1.PersistentVolumeClaim, class *storagev1.StorageClass) *v1.PersistentVolume {
	name := VolumeName(claim)
	capacity, ok := claim.Spec.Resources.Requests[v1.ResourceStorage]
	if !ok {
		capacity = DefaultCapacity
	}
	accessModes := claim.Spec.AccessModes
	if len(accessModes) == 0 {
		accessModes = []v1.PersistentVolumeAccessMode{v1.ReadWriteOnce}
	}
	reclaim := v1.PersistentVolumeReclaimDelete
	if class.ReclaimPolicy != nil {
		reclaim = *class.ReclaimPolicy
	}
	return &v1.PersistentVolume{
		ObjectMeta: metav1.ObjectMeta{
			Name: name,
			Annotations: map[string]string{
				AnnProvisionedBy: ProvisionerName(claim, class),
				AnnFakeVolume:    "true",
			},
		},
		Spec: v1.PersistentVolumeSpec{
			Capacity:                      v1.ResourceList{v1.ResourceStorage: capacity},
			AccessModes:                   accessModes,
			VolumeMode:                    claim.Spec.VolumeMode,
			StorageClassName:              ClassName(claim),
			PersistentVolumeReclaimPolicy: reclaim,
			MountOptions:                  class.MountOptions,
			ClaimRef: &v1.ObjectReference{
				APIVersion: "v1",
				Kind:       "PersistentVolumeClaim",
				Namespace:  claim.Namespace,
				Name:       claim.Name,
				UID:        claim.UID,
			},
			// A host path, not the class's CSI driver: no attach-detach
			// controller waits on it, and KWOK mounts nothing anyway.
			PersistentVolumeSource: v1.PersistentVolumeSource{
				HostPath: &v1.HostPathVolumeSource{Path: VolumeRoot + "/" + name},
			},
		},
	}
}

// ShouldDelete says whether the volume is ours and its claim is gone with a
// Delete reclaim policy: what a real provisioner deletes. A Retain volume
// stays Released, as it would anywhere.
func ShouldDelete(pv *v1.PersistentVolume) bool {
	if pv.DeletionTimestamp != nil || pv.Annotations[AnnFakeVolume] != "true" {
		return false
	}
	if pv.Spec.PersistentVolumeReclaimPolicy != v1.PersistentVolumeReclaimDelete {
		return false
	}
	// Failed: the PV controller could not hand the deletion on (a
	// provisioned-by it thinks is an in-tree plugin it no longer has).
	return pv.Status.Phase == v1.VolumeReleased || pv.Status.Phase == v1.VolumeFailed
}

// HasDefault says whether one of the classes is marked default.
func HasDefault(classes []*storagev1.StorageClass) bool {
	for _, c := range classes {
		if strings.EqualFold(c.Annotations[AnnDefaultClass], "true") {
			return true
		}
	}
	return false
}

// DefaultClass is the class created when the cluster has no default, so
// that claims which name no class (most charts' default) still bind. It
// binds on first consumer, as kind's default class does.
func DefaultClass() *storagev1.StorageClass {
	mode := storagev1.VolumeBindingWaitForFirstConsumer
	reclaim := v1.PersistentVolumeReclaimDelete
	return &storagev1.StorageClass{
		ObjectMeta: metav1.ObjectMeta{
			Name:        DefaultClassName,
			Annotations: map[string]string{AnnDefaultClass: "true"},
		},
		Provisioner:       DefaultProvisioner,
		ReclaimPolicy:     &reclaim,
		VolumeBindingMode: &mode,
	}
}
