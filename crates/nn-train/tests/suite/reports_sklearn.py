# The expected values of tests/suite/reports.rs, computed by scikit-learn (1.9.1):
# python3 crates/nn-train/tests/suite/reports_sklearn.py
import numpy as np, sklearn
from sklearn.metrics import (classification_report, log_loss, roc_auc_score, confusion_matrix,
    accuracy_score, mean_squared_error, root_mean_squared_error, mean_absolute_error, r2_score)
print("sklearn", sklearn.__version__)
P=np.array([[0.7,0.1,0.1,0.1],[0.3,0.4,0.2,0.1],[0.1,0.6,0.2,0.1],[0.2,0.5,0.2,0.1],[0.1,0.2,0.3,0.4],
 [0.2,0.5,0.25,0.05],[0.45,0.1,0.4,0.05],[0.9,0.05,0.03,0.02],[0.0,1.0,0.0,0.0],[0.0,0.6,0.2,0.2]])
yt=np.array([0,0,1,1,1,2,2,0,1,0]); yp=P.argmax(1); print("pred",yp.tolist())
names=["setosa","versicolor","virginica","unseen"]
r=classification_report(yt,yp,labels=[0,1,2,3],target_names=names,zero_division=0,output_dict=True)
for k,v in r.items(): print(k, repr(v))
print("logloss", repr(log_loss(yt,P,labels=[0,1,2,3])))
print("cm", confusion_matrix(yt,yp,labels=[0,1,2,3]).tolist())
print(classification_report(yt,yp,labels=[0,1,2,3],target_names=names,zero_division=0,digits=4))
print("---- binary")
p=np.array([0.9,0.8,0.8,0.7,0.6,0.6,0.6,0.5,0.4,0.3,0.3,0.2,0.1,1.0])
y=np.array([1,1,0,1,0,1,1,0,0,1,0,0,0,0])
ypb=(p>=0.5).astype(int)
r=classification_report(y,ypb,labels=[0,1],zero_division=0,output_dict=True)
for k,v in r.items(): print(k, repr(v))
print("logloss", repr(log_loss(y,p)))
print("auc", repr(roc_auc_score(y,p)))
print("cm", confusion_matrix(y,ypb,labels=[0,1]).tolist())
print("---- binary, one class")
p1=np.array([0.2,0.7,0.4]); y1=np.array([0,0,0])
r=classification_report(y1,(p1>=0.5).astype(int),labels=[0,1],zero_division=0,output_dict=True)
for k,v in r.items(): print(k, repr(v))
print("logloss", repr(log_loss(y1,p1,labels=[0,1])))
print("---- regression")
Y=np.array([[3,-0.5,2,7,4.2,1.1],[1,1,1,1,1,1],[2,2,2,2,2,2]]).T
A=np.array([[2.5,0.0,2,8,4.0,1.5],[1,1.2,0.9,1,1,1],[2,2,2,2,2,2]]).T
for f in [mean_squared_error, root_mean_squared_error, mean_absolute_error, r2_score]:
    print(f.__name__, repr(f(Y,A,multioutput='raw_values').tolist()), repr(f(Y,A)))
