package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	v1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	corelisters "k8s.io/client-go/listers/core/v1"
	storagelisters "k8s.io/client-go/listers/storage/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/client-go/util/workqueue"

	"github.com/sluice-gitops/sluice/cluster/internal/fakestorage"
)

// runVolumeProvisioner stands in for a cluster's storage: it makes a
// PersistentVolume for every claim of any StorageClass (a cloud disk class
// included) when the claim is due one, and deletes the volumes it made once
// their claims are gone and their reclaim policy is Delete. The binding
// itself is done by the PV controller in kube-controller-manager, as with
// any external provisioner; WaitForFirstConsumer is honoured because the
// scheduler's node choice on the claim is what makes a claim of such a
// class due (see fakestorage.Decide).
func runVolumeProvisioner(args []string) error {
	fs := flag.NewFlagSet("volume-provisioner", flag.ContinueOnError)
	kubeconfig := fs.String("kubeconfig", "", "kubeconfig of the provisioner's identity (required)")
	defaultClass := fs.Bool("default-class", true, "create a default StorageClass when the cluster has none")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *kubeconfig == "" {
		return fmt.Errorf("--kubeconfig is required")
	}
	cfg, err := clientcmd.BuildConfigFromFlags("", *kubeconfig)
	if err != nil {
		return fmt.Errorf("kubeconfig: %w", err)
	}
	cfg.UserAgent = "sluice-volume-provisioner"
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return err
	}

	ctx, cancel := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer cancel()

	factory := informers.NewSharedInformerFactory(client, 10*time.Minute)
	p := &provisioner{
		client:  client,
		claims:  factory.Core().V1().PersistentVolumeClaims().Lister(),
		volumes: factory.Core().V1().PersistentVolumes().Lister(),
		classes: factory.Storage().V1().StorageClasses().Lister(),
		queue: workqueue.NewTypedRateLimitingQueueWithConfig(
			workqueue.DefaultTypedControllerRateLimiter[string](),
			workqueue.TypedRateLimitingQueueConfig[string]{Name: "volumes"},
		),
	}
	if _, err := factory.Core().V1().PersistentVolumeClaims().Informer().AddEventHandler(p.handler(claimKey)); err != nil {
		return err
	}
	if _, err := factory.Core().V1().PersistentVolumes().Informer().AddEventHandler(p.handler(volumeKey)); err != nil {
		return err
	}
	// A claim may name a class created after it: look at the pending
	// claims again when a class appears.
	if _, err := factory.Storage().V1().StorageClasses().Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc: func(any) { p.enqueuePendingClaims() },
	}); err != nil {
		return err
	}
	factory.Start(ctx.Done())
	for typ, ok := range factory.WaitForCacheSync(ctx.Done()) {
		if !ok {
			return fmt.Errorf("cache of %v did not sync", typ)
		}
	}
	if *defaultClass {
		if err := p.ensureDefaultClass(ctx); err != nil {
			return err
		}
	}
	fmt.Fprintln(os.Stderr, "volume provisioner ready")
	go func() {
		<-ctx.Done()
		p.queue.ShutDown()
	}()
	for p.next(ctx) {
	}
	factory.Shutdown()
	return nil
}

type provisioner struct {
	client  kubernetes.Interface
	claims  corelisters.PersistentVolumeClaimLister
	volumes corelisters.PersistentVolumeLister
	classes storagelisters.StorageClassLister
	queue   workqueue.TypedRateLimitingInterface[string]
}

// Queue keys say what they name: "claim:NAMESPACE/NAME" or "volume:NAME".
func claimKey(obj any) (string, error) {
	k, err := cache.DeletionHandlingMetaNamespaceKeyFunc(obj)
	return "claim:" + k, err
}

func volumeKey(obj any) (string, error) {
	k, err := cache.DeletionHandlingMetaNamespaceKeyFunc(obj)
	return "volume:" + k, err
}

func (p *provisioner) handler(key func(any) (string, error)) cache.ResourceEventHandler {
	add := func(obj any) {
		if k, err := key(obj); err == nil {
			p.queue.Add(k)
		}
	}
	return cache.ResourceEventHandlerFuncs{AddFunc: add, UpdateFunc: func(_, obj any) { add(obj) }}
}

func (p *provisioner) enqueuePendingClaims() {
	claims, err := p.claims.List(labels.Everything())
	if err != nil {
		return
	}
	for _, c := range claims {
		if c.Spec.VolumeName == "" {
			p.queue.Add("claim:" + c.Namespace + "/" + c.Name)
		}
	}
}

func (p *provisioner) next(ctx context.Context) bool {
	key, quit := p.queue.Get()
	if quit {
		return false
	}
	defer p.queue.Done(key)
	var err error
	if k, ok := strings.CutPrefix(key, "claim:"); ok {
		err = p.syncClaim(ctx, k)
	} else if k, ok := strings.CutPrefix(key, "volume:"); ok {
		err = p.syncVolume(ctx, k)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v (will retry)\n", key, err)
		p.queue.AddRateLimited(key)
		return true
	}
	p.queue.Forget(key)
	return true
}

func (p *provisioner) syncClaim(ctx context.Context, key string) error {
	ns, name, err := cache.SplitMetaNamespaceKey(key)
	if err != nil {
		return nil
	}
	claim, err := p.claims.PersistentVolumeClaims(ns).Get(name)
	if apierrors.IsNotFound(err) {
		return nil
	} else if err != nil {
		return err
	}
	className := fakestorage.ClassName(claim)
	class, err := p.classes.Get(className)
	if err != nil && !apierrors.IsNotFound(err) {
		return err
	}
	if err != nil {
		class = nil
	}
	if d := fakestorage.Decide(claim, class); !d.Provision {
		return nil
	}
	pv := fakestorage.VolumeFor(claim, class)
	if _, err := p.volumes.Get(pv.Name); err == nil {
		return nil // made already; the PV controller binds it
	}
	_, err = p.client.CoreV1().PersistentVolumes().Create(ctx, pv, metav1.CreateOptions{})
	if apierrors.IsAlreadyExists(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("create volume for claim %s: %w", key, err)
	}
	fmt.Fprintf(os.Stderr, "provisioned %s for claim %s (class %s, %s)\n", pv.Name, key, className, pv.Annotations[fakestorage.AnnProvisionedBy])
	return nil
}

func (p *provisioner) syncVolume(ctx context.Context, name string) error {
	pv, err := p.volumes.Get(name)
	if apierrors.IsNotFound(err) {
		return nil
	} else if err != nil {
		return err
	}
	if !fakestorage.ShouldDelete(pv) {
		return nil
	}
	// Delete only the volume we looked at, not one made anew under its name.
	err = p.client.CoreV1().PersistentVolumes().Delete(ctx, name, metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &pv.UID}})
	if apierrors.IsNotFound(err) || apierrors.IsConflict(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("delete released volume: %w", err)
	}
	fmt.Fprintf(os.Stderr, "deleted released volume %s (claim %s/%s)\n", name, claimRefNamespace(pv), claimRefName(pv))
	return nil
}

func claimRefNamespace(pv *v1.PersistentVolume) string {
	if pv.Spec.ClaimRef == nil {
		return ""
	}
	return pv.Spec.ClaimRef.Namespace
}

func claimRefName(pv *v1.PersistentVolume) string {
	if pv.Spec.ClaimRef == nil {
		return ""
	}
	return pv.Spec.ClaimRef.Name
}

// ensureDefaultClass creates fakestorage.DefaultClass when no class is
// marked default, so claims that name no class bind too, as on kind.
func (p *provisioner) ensureDefaultClass(ctx context.Context) error {
	classes, err := p.classes.List(labels.Everything())
	if err != nil {
		return err
	}
	if fakestorage.HasDefault(classes) {
		return nil
	}
	_, err = p.client.StorageV1().StorageClasses().Create(ctx, fakestorage.DefaultClass(), metav1.CreateOptions{})
	if err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("create the default StorageClass: %w", err)
	}
	return nil
}
