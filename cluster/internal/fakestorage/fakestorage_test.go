package fakestorage

import (
	"testing"

	v1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func claim(mutate ...func(*v1.PersistentVolumeClaim)) *v1.PersistentVolumeClaim {
	class := "ebs"
	c := &v1.PersistentVolumeClaim{
		ObjectMeta: metav1.ObjectMeta{Name: "data-db-0", Namespace: "apps", UID: "1234", Annotations: map[string]string{}},
		Spec: v1.PersistentVolumeClaimSpec{
			StorageClassName: &class,
			AccessModes:      []v1.PersistentVolumeAccessMode{v1.ReadWriteOnce},
			Resources:        v1.VolumeResourceRequirements{Requests: v1.ResourceList{v1.ResourceStorage: resource.MustParse("5Gi")}},
		},
		Status: v1.PersistentVolumeClaimStatus{Phase: v1.ClaimPending},
	}
	for _, m := range mutate {
		m(c)
	}
	return c
}

func class(mutate ...func(*storagev1.StorageClass)) *storagev1.StorageClass {
	c := &storagev1.StorageClass{ObjectMeta: metav1.ObjectMeta{Name: "ebs"}, Provisioner: "kubernetes.io/aws-ebs"}
	for _, m := range mutate {
		m(c)
	}
	return c
}

func waitForConsumer(c *storagev1.StorageClass) {
	m := storagev1.VolumeBindingWaitForFirstConsumer
	c.VolumeBindingMode = &m
}

func TestDecide(t *testing.T) {
	now := metav1.Now()
	empty := ""
	cases := []struct {
		name      string
		claim     *v1.PersistentVolumeClaim
		class     *storagev1.StorageClass
		provision bool
		reason    string
	}{
		{"immediate class provisions at once", claim(), class(), true, ""},
		{"a CSI provisioner name is as good as any", claim(), class(func(c *storagev1.StorageClass) { c.Provisioner = "ebs.csi.aws.com" }), true, ""},
		{"first consumer not scheduled yet", claim(), class(waitForConsumer), false, "waiting for first consumer to be scheduled"},
		{"first consumer scheduled", claim(func(c *v1.PersistentVolumeClaim) { c.Annotations[AnnSelectedNode] = "kwok-node-0" }), class(waitForConsumer), true, ""},
		{"already bound", claim(func(c *v1.PersistentVolumeClaim) { c.Spec.VolumeName = "pv1" }), class(), false, "already bound to pv1"},
		{"bound phase", claim(func(c *v1.PersistentVolumeClaim) { c.Status.Phase = v1.ClaimBound }), class(), false, "phase Bound"},
		{"being deleted", claim(func(c *v1.PersistentVolumeClaim) { c.DeletionTimestamp = &now }), class(), false, "being deleted"},
		{"no class at all", claim(func(c *v1.PersistentVolumeClaim) { c.Spec.StorageClassName = nil }), nil, false, "no storage class: only a volume made by hand can bind it"},
		{"empty class means none", claim(func(c *v1.PersistentVolumeClaim) { c.Spec.StorageClassName = &empty }), nil, false, "no storage class: only a volume made by hand can bind it"},
		{"class missing", claim(), nil, false, "storage class ebs not found"},
		{"static class", claim(), class(func(c *storagev1.StorageClass) { c.Provisioner = NoProvisioner }), false, "storage class ebs has no provisioner"},
		{"selector", claim(func(c *v1.PersistentVolumeClaim) { c.Spec.Selector = &metav1.LabelSelector{} }), class(), false, "a claim with a selector binds only to a volume made by hand"},
		{"beta annotation names the class", claim(func(c *v1.PersistentVolumeClaim) {
			c.Spec.StorageClassName = nil
			c.Annotations[AnnBetaStorageClass] = "ebs"
		}), class(), true, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := Decide(tc.claim, tc.class)
			if got.Provision != tc.provision || got.Reason != tc.reason {
				t.Fatalf("Decide = %+v, want provision=%v reason=%q", got, tc.provision, tc.reason)
			}
		})
	}
}

func TestVolumeFor(t *testing.T) {
	retain := v1.PersistentVolumeReclaimRetain
	block := v1.PersistentVolumeBlock
	c := claim(func(c *v1.PersistentVolumeClaim) {
		c.Annotations[AnnStorageProvisioner] = "ebs.csi.aws.com"
		c.Spec.AccessModes = []v1.PersistentVolumeAccessMode{v1.ReadWriteMany, v1.ReadOnlyMany}
		c.Spec.VolumeMode = &block
	})
	pv := VolumeFor(c, class(func(s *storagev1.StorageClass) {
		s.ReclaimPolicy = &retain
		s.MountOptions = []string{"noatime"}
	}))
	if pv.Name != "pvc-1234" {
		t.Errorf("name %q", pv.Name)
	}
	if got := pv.Spec.Capacity[v1.ResourceStorage]; got.String() != "5Gi" {
		t.Errorf("capacity %s", got.String())
	}
	if len(pv.Spec.AccessModes) != 2 || pv.Spec.AccessModes[0] != v1.ReadWriteMany || pv.Spec.AccessModes[1] != v1.ReadOnlyMany {
		t.Errorf("access modes %v", pv.Spec.AccessModes)
	}
	if pv.Spec.VolumeMode == nil || *pv.Spec.VolumeMode != block {
		t.Errorf("volume mode %v", pv.Spec.VolumeMode)
	}
	if pv.Spec.StorageClassName != "ebs" || pv.Spec.PersistentVolumeReclaimPolicy != retain || pv.Spec.MountOptions[0] != "noatime" {
		t.Errorf("class fields: %+v", pv.Spec)
	}
	ref := pv.Spec.ClaimRef
	if ref == nil || ref.Namespace != "apps" || ref.Name != "data-db-0" || ref.UID != "1234" || ref.Kind != "PersistentVolumeClaim" {
		t.Errorf("claimRef %+v", ref)
	}
	// The migrated CSI name the PV controller asked for, not the in-tree class name.
	if pv.Annotations[AnnProvisionedBy] != "ebs.csi.aws.com" || pv.Annotations[AnnFakeVolume] != "true" {
		t.Errorf("annotations %v", pv.Annotations)
	}
	if pv.Spec.HostPath == nil || pv.Spec.HostPath.Path != VolumeRoot+"/pvc-1234" {
		t.Errorf("source %+v", pv.Spec.PersistentVolumeSource)
	}
}

func TestVolumeForDefaults(t *testing.T) {
	c := claim(func(c *v1.PersistentVolumeClaim) {
		c.Spec.AccessModes = nil
		c.Spec.Resources.Requests = nil
	})
	pv := VolumeFor(c, class())
	if pv.Spec.PersistentVolumeReclaimPolicy != v1.PersistentVolumeReclaimDelete {
		t.Errorf("reclaim %s", pv.Spec.PersistentVolumeReclaimPolicy)
	}
	if len(pv.Spec.AccessModes) != 1 || pv.Spec.AccessModes[0] != v1.ReadWriteOnce {
		t.Errorf("access modes %v", pv.Spec.AccessModes)
	}
	if got := pv.Spec.Capacity[v1.ResourceStorage]; got.String() != "1Gi" {
		t.Errorf("capacity %s", got.String())
	}
	// Before the PV controller says so, the in-tree name is migrated here.
	if pv.Annotations[AnnProvisionedBy] != "ebs.csi.aws.com" {
		t.Errorf("provisioned-by %q", pv.Annotations[AnnProvisionedBy])
	}
}

func TestProvisionerName(t *testing.T) {
	cases := []struct{ class, annotation, want string }{
		{"kubernetes.io/aws-ebs", "", "ebs.csi.aws.com"},
		{"kubernetes.io/gce-pd", "", "pd.csi.storage.gke.io"},
		{"kubernetes.io/azure-disk", "", "disk.csi.azure.com"},
		{"ebs.csi.aws.com", "", "ebs.csi.aws.com"},
		{"example.com/nfs", "", "example.com/nfs"},
		{"kubernetes.io/aws-ebs", "someone.else/asked", "someone.else/asked"},
	}
	for _, tc := range cases {
		c := claim()
		if tc.annotation != "" {
			c.Annotations[AnnStorageProvisioner] = tc.annotation
		}
		if got := ProvisionerName(c, class(func(s *storagev1.StorageClass) { s.Provisioner = tc.class })); got != tc.want {
			t.Errorf("class %s, annotation %q: got %q, want %q", tc.class, tc.annotation, got, tc.want)
		}
	}
}

func TestShouldDelete(t *testing.T) {
	now := metav1.Now()
	pv := func(phase v1.PersistentVolumePhase, policy v1.PersistentVolumeReclaimPolicy, ours bool, deleting bool) *v1.PersistentVolume {
		p := &v1.PersistentVolume{ObjectMeta: metav1.ObjectMeta{Name: "pv", Annotations: map[string]string{}}}
		if ours {
			p.Annotations[AnnFakeVolume] = "true"
		}
		if deleting {
			p.DeletionTimestamp = &now
		}
		p.Spec.PersistentVolumeReclaimPolicy = policy
		p.Status.Phase = phase
		return p
	}
	del, ret := v1.PersistentVolumeReclaimDelete, v1.PersistentVolumeReclaimRetain
	cases := []struct {
		name string
		pv   *v1.PersistentVolume
		want bool
	}{
		{"released, delete policy", pv(v1.VolumeReleased, del, true, false), true},
		{"failed delete hand-off", pv(v1.VolumeFailed, del, true, false), true},
		{"released, retain policy", pv(v1.VolumeReleased, ret, true, false), false},
		{"bound", pv(v1.VolumeBound, del, true, false), false},
		{"available", pv(v1.VolumeAvailable, del, true, false), false},
		{"not ours", pv(v1.VolumeReleased, del, false, false), false},
		{"already deleting", pv(v1.VolumeReleased, del, true, true), false},
	}
	for _, tc := range cases {
		if got := ShouldDelete(tc.pv); got != tc.want {
			t.Errorf("%s: ShouldDelete = %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestDefaultClass(t *testing.T) {
	other := class()
	if HasDefault([]*storagev1.StorageClass{other}) {
		t.Fatal("a class without the annotation is not the default")
	}
	d := DefaultClass()
	if !HasDefault([]*storagev1.StorageClass{other, d}) {
		t.Fatal("DefaultClass is marked default")
	}
	if d.VolumeBindingMode == nil || *d.VolumeBindingMode != storagev1.VolumeBindingWaitForFirstConsumer {
		t.Fatal("the default class binds on first consumer")
	}
	if Decide(claim(), d).Provision {
		t.Fatal("an unscheduled claim of the default class waits")
	}
}
